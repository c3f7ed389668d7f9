# Sourced by run.sh and build-kernel.sh: sets and exports SVMRT_VM_CACHE,
# the kernel build cache outside the source tree (default
# /var/cache/svmrt-vm, or ~/.cache/svmrt-vm where /var/cache is not
# writable), and `cache` to the same.
if [ -z "${SVMRT_VM_CACHE:-}" ]; then
	if [ -w /var/cache ] || [ -w /var/cache/svmrt-vm ]; then
		SVMRT_VM_CACHE=/var/cache/svmrt-vm
	else
		SVMRT_VM_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/svmrt-vm
	fi
fi
export SVMRT_VM_CACHE
cache=$SVMRT_VM_CACHE
