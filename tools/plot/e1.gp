# E1: average buyer round trip by requests per buyer, with and without elections. The CSV
# alternates the two (no, yes) for each size.
load dir.'common.gp'
set title 'E1: average buyer round trip, with and without elections'
set xlabel 'requests per buyer (max\_transactions)'
set ylabel 'mean round trip (ms)'
set logscale x
set style data linespoints
plot data every 2::0 using 1:4 title 'no elections' lw 2 pt 7, \
     data every 2::1 using 1:4 title 'with elections (trader fails every quantum)' lw 2 pt 5
