# Buys per second by number of concurrent buyers, one line per transport and durability policy
# (TCP: none and group only).
load dir.'common.gp'
set title 'Throughput: buys answered per second'
set xlabel 'concurrent buyers'
set ylabel 'buys/s'
set logscale xy
set style data yerrorlines
# Column 7 is security (on/off), column 8 replication (shared/quorum); older CSVs without them
# count as on and shared. Columns 9 and 10 are the min and max of a cell's runs (--repeat): the
# error bars; older CSVs have none, and their bars close on the point.
lo(c) = valid(9) ? column(9) : column(c)
hi(c) = valid(10) ? column(10) : column(c)
plot for [t in 'memory udp'] for [d in 'none group every'] \
     data using 3:(strcol(1) eq t && strcol(2) eq d && strcol(7) ne 'off' && \
                   strcol(8) ne 'quorum' ? $6 : NaN):(lo(6)):(hi(6)) \
     title t.', '.d lw 2, \
     for [t in 'memory udp'] for [d in 'group every'] \
     data using 3:(strcol(1) eq t && strcol(2) eq d && strcol(8) eq 'quorum' ? $6 : NaN):(lo(6)):(hi(6)) \
     title t.', '.d.', quorum' lw 2 dt 3, \
     for [d in 'none group'] \
     data using 3:(strcol(1) eq 'udp' && strcol(2) eq d && strcol(7) eq 'off' ? $6 : NaN):(lo(6)):(hi(6)) \
     title 'udp, '.d.', no auth' lw 2 dt 2, \
     data using 3:(strcol(1) eq 'memory' && strcol(2) eq 'none' && strcol(7) eq 'off' ? $6 : NaN):(lo(6)):(hi(6)) \
     title 'memory, none, no auth' lw 2 dt 2, \
     for [d in 'none group'] \
     data using 3:(strcol(1) eq 'tcp' && strcol(2) eq d && strcol(8) ne 'quorum' ? $6 : NaN):(lo(6)):(hi(6)) \
     title 'tcp, '.d lw 2 dt 4
