# gnuplot: PSS without guest RAM (data: memory.dat from bench.sh)
set terminal pngcairo size 900,480 noenhanced
set output OUT."/memory.png"
set title "VMM memory overhead: PSS minus guest RAM, KiB (idle guest)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "KiB"
set logscale y
set grid ytics
set key top left
set datafile missing "NaN"
plot OUT."/memory.dat" using 2:xtic(1) title "vmm", \
     "" using 3 title "raw KVM_RUN", \
     "" using 4 title "QEMU microvm"
