# Buys per second by number of concurrent buyers, one line per transport and durability policy.
load dir.'common.gp'
set title 'Throughput: buys answered per second'
set xlabel 'concurrent buyers'
set ylabel 'buys/s'
set logscale xy
set style data linespoints
plot for [t in 'memory udp'] for [d in 'none group every'] \
     data using 3:(strcol(1) eq t && strcol(2) eq d ? $6 : NaN) title t.', '.d lw 2
