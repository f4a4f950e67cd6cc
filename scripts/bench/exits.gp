# gnuplot: ns per exit, vmm vs raw KVM vs QEMU (data: exits.dat from bench.sh)
set terminal pngcairo size 1100,520 noenhanced
set output OUT."/exits.png"
set title "Exit cost, ns per exit (median; guest rdtsc; ".HOST.")"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -30
set ylabel "ns (log scale)"
set logscale y
set grid ytics
set key top left
set datafile missing "NaN"
plot OUT."/exits.dat" using 2:xtic(1) title "vmm", \
     "" using 3 title "raw KVM_RUN", \
     "" using 4 title "QEMU microvm"
