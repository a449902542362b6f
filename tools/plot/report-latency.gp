# Per-run report: the round trip of every request over the run, one colour per buyer, with each
# failure (red), new coordinator (gold) and return of a failed peer (green) as a vertical line.
# Called by `trading-post run|sim --report` with data, out, dir, title, buyers, fails, elected,
# backs (the last three: times in seconds, separated by spaces).
load dir.'common.gp'
set title "Round trip of every request\n".title noenhanced
set xlabel 'time since the start of the run (s)'
set ylabel 'round trip (ms, log scale)'
set logscale y
set ytics (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
set key outside right top
set xrange [0:*]
do for [t in fails] { set arrow from t, graph 0 to t, graph 1 nohead lc rgb '#d62728' lw 2 dt 2 }
do for [t in elected] { set arrow from t, graph 0 to t, graph 1 nohead lc rgb '#d4a017' lw 2 }
do for [t in backs] { set arrow from t, graph 0 to t, graph 1 nohead lc rgb '#2ca02c' lw 2 dt 3 }
plot for [b in buyers] data using 2:(column(1) == int(b) ? $3 : NaN) with points pt 7 ps 0.7 \
       title 'buyer '.b, \
     NaN with lines lc rgb '#d62728' lw 2 dt 2 title 'a peer fails', \
     NaN with lines lc rgb '#d4a017' lw 2 title 'new coordinator', \
     NaN with lines lc rgb '#2ca02c' lw 2 dt 3 title 'failed peer returns'
