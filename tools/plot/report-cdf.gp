# Per-run report: the distribution of the round trips (fraction of requests answered within x).
load dir.'common.gp'
set title "Round trips: cumulative distribution\n".title noenhanced
set xlabel 'round trip (ms, log scale)'
set ylabel 'fraction of requests answered within'
set logscale x
set yrange [0:1.02]
set key bottom right
plot data using 1:2 with steps lw 2 lc rgb '#1f77b4' title 'every answered request'
