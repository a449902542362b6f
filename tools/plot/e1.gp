# E1: average buyer round trip by requests per buyer, with and without elections.
load dir.'common.gp'
set title 'E1: average buyer round trip, with and without elections'
set xlabel 'requests per buyer (max\_transactions)'
set ylabel 'mean round trip (ms)'
set logscale x
set style data linespoints
plot data using 1:(strcol(2) eq 'no' ? $5 : NaN) title 'no elections' lw 2 pt 7, \
     data using 1:(strcol(2) eq 'yes' ? $5 : NaN) title 'with elections (trader fails every quantum)' lw 2 pt 5
