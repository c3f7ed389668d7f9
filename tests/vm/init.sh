#!/bin/busybox sh
# /init of the svmrt test VM (templated by tests/vm/run.sh). Everything it
# prints goes to the serial console; lines starting "SVMVM:" are markers
# read by tests/vm/check-log.sh.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
nodes=$(ls -d /sys/devices/system/node/node[0-9]* | wc -l)
echo "SVMVM: boot $(uname -r) cpus=$(nproc) numa_nodes=$nodes"
up() { cut -d' ' -f1 /proc/uptime; }
[ @SHELL@ = 1 ] && exec setsid cttyhack sh

if [ @HMM@ = 1 ]; then
	echo "SVMVM: hmm-tests begin at $(up) s"
	if insmod /lib/test_hmm.ko; then
		(cd /tmp && /bin/hmm-tests 2>&1)
		echo "SVMVM: hmm-tests rc=$?"
		rmmod test_hmm
	else
		echo "SVMVM: hmm-tests rc=insmod-failed"
	fi
	echo "SVMVM: hmm-tests end at $(up) s"
fi

echo "SVMVM: kshim-tests begin at $(up) s"
insmod /lib/svmshim.ko vram_mb=64
echo "SVMVM: insmod rc=$?"
/bin/kshim-tests @TESTS@
echo "SVMVM: kshim-tests rc=$?"
rmmod svmshim
echo "SVMVM: rmmod rc=$?"
echo "SVMVM: kshim-tests end at $(up) s"

if [ @BENCH@ = 1 ] && [ -x /bin/kshim-bench ]; then
	echo "SVMVM: bench begin at $(up) s"
	insmod /lib/test_hmm.ko
	insmod /lib/svmshim.ko vram_mb=320
	echo "SVMVM: insmod rc=$?"
	# pinned to vCPU 0 (node 0, device 0): less noise from vCPU migrations
	taskset 1 /bin/kshim-bench @BENCH_ARGS@
	echo "SVMVM: kshim-bench rc=$?"
	rmmod svmshim
	echo "SVMVM: rmmod rc=$?"
	rmmod test_hmm
	echo "SVMVM: bench end at $(up) s"
fi

echo "SVMVM: dmesg begin"
dmesg
echo "SVMVM: dmesg end"
echo "SVMVM: done"
sync
poweroff -f
