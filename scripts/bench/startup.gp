# gnuplot: exec to first KVM_RUN and to first guest serial byte
# (data: startup.dat from bench.sh: config, 3 x first KVM_RUN, 3 x first byte)
set terminal pngcairo size 1400,500 noenhanced
set output OUT."/startup.png"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "ms (median)"
set grid ytics
set yrange [0:*]
set key top left
set xtics font ",10"
set datafile missing "NaN"
set multiplot layout 1,2 title "Start-up (".HOST.")"
set title "exec to first KVM_RUN"
plot OUT."/startup.dat" using 2:xtic(1) title "vmm", \
     "" using 3 title "raw KVM_RUN", \
     "" using 4 title "QEMU microvm"
set title "exec to first guest serial byte"
plot OUT."/startup.dat" using 5:xtic(1) title "vmm", \
     "" using 6 title "raw KVM_RUN", \
     "" using 7 title "QEMU microvm"
unset multiplot
