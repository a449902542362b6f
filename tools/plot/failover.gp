# Unavailability per trader crash: last answer before the crash to first answer after it.
load dir.'common.gp'
set title 'Failover: unavailability per trader crash'
set xlabel 'crash'
set ylabel 'ms'
set style data points
plot data using 2:(strcol(1) eq 'memory' ? $5 : NaN) title 'unavailable, memory (virtual time)' pt 7, \
     data using 2:(strcol(1) eq 'udp' ? $5 : NaN) title 'unavailable, udp' pt 5, \
     data using 2:(strcol(1) eq 'udp' ? $6 : NaN) title 'new trader serving, udp' pt 1
