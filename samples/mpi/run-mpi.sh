#!/bin/sh
# Runs an MPI program on this machine for CTest (samples/mpi, tests mpi.*):
#   run-mpi.sh MPIEXEC NP PROGRAM [ARGS...]
# Exit 77 (SKIP, with the reason) when there is no MPI; the program's own
# status otherwise; 1 when it ran past SVMRT_MPI_TIMEOUT seconds (default
# 100), which is reported as a hang.
#
# With Open MPI it runs
#   mpirun -np NP --oversubscribe --bind-to none [--allow-run-as-root] PROGRAM
# with the shared-memory transport only (pml ob1, btl self,vader) and its
# single-copy mechanism set to CMA (process_vm_readv/writev) where this
# machine allows CMA (a container without CAP_SYS_PTRACE may not: then
# "none", said on the output). Without ssh/rsh (a bare container) the
# launcher agent is set to `false`: every rank is local, it is never run.
set -u

skip() { echo "SKIP: $*"; exit 77; }

[ -z "${SVMRT_MPI_MISSING:-}" ] || skip "$SVMRT_MPI_MISSING"
[ $# -ge 3 ] || { echo "usage: $0 MPIEXEC NP PROGRAM [ARGS...]" >&2; exit 2; }
mpiexec=$1 np=$2 prog=$3
shift 3
command -v "$mpiexec" >/dev/null 2>&1 || skip "$mpiexec not found (scripts/install-deps.sh installs openmpi-bin)"
[ -x "$prog" ] || { echo "run-mpi: $prog is not an executable" >&2; exit 2; }
limit=${SVMRT_MPI_TIMEOUT:-100}

set --  "$prog" "$@"
if "$mpiexec" --version 2>&1 | grep -Eq 'Open MPI|OpenRTE'; then
	# Can this process read another one's memory (what vader's CMA does)?
	mech=cma
	if command -v python3 >/dev/null 2>&1; then
		why=$(python3 - <<'EOF'
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
src, dst = ctypes.create_string_buffer(b"svmrt", 8), ctypes.create_string_buffer(8)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    os.read(r, 1)
    os._exit(0)
os.close(r)
lio = iovec(ctypes.addressof(dst), 8)
rio = iovec(ctypes.addressof(src), 8)
n = libc.process_vm_readv(pid, ctypes.byref(lio), 1, ctypes.byref(rio), 1, 0)
err = ctypes.get_errno()
os.close(w)
os.waitpid(pid, 0)
if n != 8 or dst.value != b"svmrt":
    print(os.strerror(err))
EOF
)
		if [ -n "$why" ]; then
			mech=none
			echo "run-mpi: NOTE: process_vm_readv is refused here ($why): Open MPI's" \
			     "single-copy mechanism is off, the ranks copy through shared memory" \
			     "in user space, and no kernel-mode copy meets SVM pages in this run"
		fi
	fi
	export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
	export OMPI_MCA_btl_vader_single_copy_mechanism=$mech
	if ! command -v ssh >/dev/null 2>&1 && ! command -v rsh >/dev/null 2>&1; then
		export OMPI_MCA_plm_rsh_agent=false
	fi
	root=
	[ "$(id -u)" != 0 ] || root=--allow-run-as-root
	set -- "$mpiexec" -np "$np" --oversubscribe --bind-to none $root "$@"
else
	set -- "$mpiexec" -n "$np" "$@"
fi

echo "run-mpi: SVM_BACKEND=${SVM_BACKEND:-} SVM_USER_UFFD_MOVE=${SVM_USER_UFFD_MOVE:-}" \
     "${OMPI_MCA_btl_vader_single_copy_mechanism:+OMPI_MCA_btl_vader_single_copy_mechanism=$OMPI_MCA_btl_vader_single_copy_mechanism }$*"
start=$(date +%s)
# (busybox's timeout, in the VM, has no --kill-after)
kill_after=
timeout --help 2>&1 | grep -q -- --kill-after && kill_after=--kill-after=10
timeout $kill_after "$limit" "$@"
rc=$?
echo "run-mpi: exit $rc after $(($(date +%s) - start)) s"
case $rc in
124|137)
	echo "run-mpi: FAIL: still running after $limit s: a hang (every rank is killed)"
	exit 1 ;;
esac
exit $rc
