# Distribution of one buyer's round trip, next to raw UDP ping-pong (the limit).
load dir.'common.gp'
set title 'Latency: one buyer, one request at a time'
set xlabel 'round trip (µs)'
set ylabel 'fraction of requests'
set logscale x
set key bottom right
set style data lines
plot for [i=1:words(series)] data using 3:(strcol(1) eq word(series, i) ? $2 : NaN) \
     title word(series, i) lw 2
