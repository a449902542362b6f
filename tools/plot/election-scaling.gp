# Messages per election as the market grows, against the bully algorithm's bounds.
load dir.'common.gp'
set title 'Election cost by market size'
set xlabel 'peers'
set ylabel 'messages per election'
set logscale xy
set style data linespoints
plot data using 1:6 title 'measured (Election + Ok + Coordinator)' lw 2 pt 7, \
     data using 1:7 title 'n-2 (best case)' dt 2, \
     data using 1:8 title 'n(n-1) (worst case)' dt 2
