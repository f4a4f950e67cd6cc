# gnuplot: exec to first serial byte (data: startup.dat from bench.sh)
set terminal pngcairo size 900,480 noenhanced
set output OUT."/startup.png"
set title "Start-up: exec to first guest serial byte, ms (median; ".HOST.")"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "ms"
set grid ytics
set key top left
set datafile missing "NaN"
plot OUT."/startup.dat" using 2:xtic(1) title "vmm", \
     "" using 3 title "raw KVM_RUN", \
     "" using 4 title "QEMU microvm"
