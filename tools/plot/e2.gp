# E2: every request's response time over the run, per buyer; each trader failure a vertical line.
load dir.'common.gp'
set title 'E2: response time of every request, with failovers'
set xlabel 'time since start (s)'
set ylabel 'round trip (ms)'
set logscale y
stats data using 4 nooutput
top = STATS_max * 2
set yrange [*:top]
set key top right
plot for [b in buyers] data using 3:(column(1) == int(b) ? $4 : NaN) with points pt 7 ps 0.6 title 'buyer '.b, \
     failures using 1:(strcol(3) eq 'trader failed' ? top : NaN) with impulses lc rgb 'red' dt 2 title 'trader fails'
