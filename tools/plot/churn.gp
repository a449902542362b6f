# A customer's round trip while peers join and leave (trading-post bench churn).
load dir.'common.gp'
set title 'Round trip under churn: joins and leaves per second'
set xlabel 'joins per second (and as many leaves)'
set ylabel 'round trip (µs)'
set style data linespoints
set xrange [-0.5:*]
plot data using 1:5 title 'p50' lw 2 pt 7, \
     data using 1:6 title 'p99' lw 2 pt 5
