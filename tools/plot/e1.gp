# E1: average buyer round trip by requests per buyer, with and without elections. The CSV
# alternates the two (no, yes) for each size. Repeated runs (columns 9 and 10: the least and the
# most mean of the runs) are drawn as error bars; older CSVs without them plot as before.
load dir.'common.gp'
set title 'E1: average buyer round trip, with and without elections (median run, min-max)'
set xlabel 'requests per buyer (max\_transactions)'
set ylabel 'mean round trip (ms)'
set logscale x
lo(c) = valid(9) ? column(9) : column(c)
hi(c) = valid(10) ? column(10) : column(c)
plot data every 2::0 using 1:4:(lo(4)):(hi(4)) with yerrorlines title 'no elections' lw 2 pt 7, \
     data every 2::1 using 1:4:(lo(4)):(hi(4)) with yerrorlines \
     title 'with elections (trader fails every quantum)' lw 2 pt 5
