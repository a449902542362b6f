# Unavailability per trader crash: last answer before the crash to first answer after it.
load dir.'common.gp'
set title 'Failover: unavailability per trader crash'
set xlabel 'crash'
set ylabel 'ms'
set style data points
# Column 7 is replication (shared/quorum), column 8 the crashed trader's disk (kept/lost); older
# CSVs without them count as shared and kept.
plot for [t in 'memory udp'] \
     data using 2:(strcol(1) eq t && strcol(7) ne 'quorum' ? $5 : NaN) \
     title 'unavailable, '.t.', shared'.(t eq 'memory' ? ' (virtual time)' : '') pt 7, \
     for [t in 'memory udp'] \
     data using 2:(strcol(1) eq t && strcol(7) eq 'quorum' && strcol(8) ne 'lost' ? $5 : NaN) \
     title 'unavailable, '.t.', quorum' pt 5, \
     for [t in 'memory udp'] \
     data using 2:(strcol(1) eq t && strcol(7) eq 'quorum' && strcol(8) eq 'lost' ? $5 : NaN) \
     title 'unavailable, '.t.', quorum, disk lost' pt 9, \
     data using 2:(strcol(1) eq 'udp' && strcol(7) ne 'quorum' ? $6 : NaN) \
     title 'new trader serving, udp, shared' pt 1
