# Per-run report: messages sent during the run, per kind.
load dir.'common.gp'
set title "Messages sent, per kind\n".title noenhanced
set xlabel 'message kind'
set ylabel 'messages sent'
set style fill solid 0.7 border -1
set boxwidth 0.6
set yrange [0:*]
set xtics rotate by -30 noenhanced
set key off
plot data using 0:2:xtic(1) with boxes lc rgb '#1f77b4', \
     '' using 0:2:2 with labels offset 0,0.8 notitle
