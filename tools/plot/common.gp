# Shared by every plot of `trading-post bench`: reads the CSV files it writes (comment lines start
# with '#', the first other line is the header). Each script is called as
#   gnuplot -e "data='X.csv'; out='X.png'" tools/plot/X.gp
set datafile separator ','
set datafile commentschars '#'
set key autotitle columnhead
set terminal pngcairo size 1000,600 font 'sans,10'
set output out
set grid
set key top left
