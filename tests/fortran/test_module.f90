! SPDX-License-Identifier: MIT
!
! The Fortran module svmrt against the C library (issue 17):
!  - every bind(C) type has the C struct's size and field offsets
!    (layout.c gives the C side), so a field added in C and not here fails;
!  - the version constants equal svm_version();
!  - calls with the C argument order: alloc, prefetch with a report, advise,
!    query, pointer info, pin/unpin, stats, device props, errors;
!  - a kernel written in Fortran (bind(C)) through svm_launch, reaching SVM
!    memory with svm_device_ptr.
program test_module
  use svmrt
  implicit none

  interface
    function svmt_c_layout(which) bind(C, name="svmt_c_layout")
      import :: c_int, c_size_t
      integer(c_int), value :: which
      integer(c_size_t) :: svmt_c_layout
    end function svmt_c_layout
  end interface

  integer(c_size_t), parameter :: n = 4096
  integer :: failures = 0
  type(svm_device_props_t), target :: props
  type(svm_migrate_report_t), target :: rep
  type(svm_page_info_t), target :: pages(16)
  type(svm_pointer_info_t), target :: info
  type(svm_stats_t), target :: st
  type(c_ptr) :: p
  integer(c_int32_t), pointer :: a(:)
  integer(c_int), target :: local
  integer(c_size_t) :: nbytes, i
  integer(c_int) :: r
  character(len=32) :: v  ! not allocatable: a main program's would never be freed (ASan)

  ! ---- layout ----
  call same(c_sizeof(props), 0, 'sizeof(svm_device_props_t)')
  call same(offset(c_loc(props), c_loc(props%memory_bytes)), 1, 'props.memory_bytes')
  call same(offset(c_loc(props), c_loc(props%numa_node)), 2, 'props.numa_node')
  call same(offset(c_loc(props), c_loc(props%pci_bus_id)), 3, 'props.pci_bus_id')
  call same(offset(c_loc(props), c_loc(props%compute_threads)), 4, 'props.compute_threads')
  call same(c_sizeof(rep), 10, 'sizeof(svm_migrate_report_t)')
  call same(offset(c_loc(rep), c_loc(rep%failed_by)), 11, 'report.failed_by')
  call same(offset(c_loc(rep), c_loc(rep%retries)), 12, 'report.retries')
  call same(c_sizeof(pages(1)), 20, 'sizeof(svm_page_info_t)')
  call same(offset(c_loc(pages(1)), c_loc(pages(1)%copies)), 21, 'page.copies')
  call same(offset(c_loc(pages(1)), c_loc(pages(1)%last_failure)), 22, 'page.last_failure')
  call same(c_sizeof(info), 30, 'sizeof(svm_pointer_info_t)')
  call same(offset(c_loc(info), c_loc(info%bytes)), 31, 'pointer_info.bytes')
  call same(offset(c_loc(info), c_loc(info%location)), 32, 'pointer_info.location')
  call same(c_sizeof(st), 40, 'sizeof(svm_stats_t)')
  call same(offset(c_loc(st), c_loc(st%failures_by)), 41, 'stats.failures_by')
  call same(offset(c_loc(st), c_loc(st%launches)), 42, 'stats.launches')
  call same(offset(c_loc(st), c_loc(st%device_resident_bytes)), 43, &
            'stats.device_resident_bytes')

  ! ---- version ----
  v = c_string(svm_version())
  if (v /= SVM_VERSION_STRING) call fail('svm_version() is ' // trim(v) // ', module says ' // &
                                         SVM_VERSION_STRING)
  if (c_string(svm_result_string(SVM_ERROR_INVALID_ARGUMENT)) /= 'invalid argument') &
    call fail('svm_result_string')
  if (c_string(svm_failure_string(SVM_FAILURE_PINNED)) /= 'pinned') call fail('svm_failure_string')

  ! ---- calls ----
  if (svm_free(c_null_ptr) /= SVM_ERROR_NOT_INITIALIZED) call fail('svm_free before init')
  r = svm_init()
  if (r == SVM_ERROR_NO_DEVICE) then
    write (*, '(a)') 'SKIP: svm_init: no device'
    stop 77
  end if
  call ok(r, 'svm_init')
  call ok(svm_device_props(0_c_int, props), 'svm_device_props')
  if (c_string(c_loc(props%backend)) /= 'user') call fail('backend ' // c_string(c_loc(props%backend)))
  if (svm_device_count() < 1) call fail('svm_device_count')

  nbytes = n * c_sizeof(0_c_int32_t)
  call ok(svm_alloc(p, nbytes), 'svm_alloc')
  call c_f_pointer(p, a, [n])
  do i = 1, n
    a(i) = int(i, c_int32_t)
  end do
  call ok(svm_prefetch(p, nbytes, 0_c_int, c_loc(rep)), 'svm_prefetch')
  if (rep%pages /= nbytes / 4096 .or. rep%failed /= 0) call fail('prefetch report')
  call ok(svm_query(p, nbytes, pages, 16_c_size_t), 'svm_query')
  do i = 1, nbytes / 4096
    if (pages(i)%location /= 0) call fail('svm_query: a page is not on device 0')
  end do
  call ok(svm_pointer_info(c_loc(a(n)), info), 'svm_pointer_info')
  if (.not. c_associated(info%base, p) .or. info%bytes /= nbytes .or. info%location /= 0) &
    call fail('svm_pointer_info of the last element')
  if (svm_pointer_info(c_loc(local), info) /= SVM_ERROR_INVALID_ARGUMENT) &
    call fail('svm_pointer_info of a Fortran variable')
  call ok(svm_advise(p, nbytes, SVM_ADVISE_SET_PREFERRED_LOCATION, 0_c_int), 'svm_advise')
  call ok(svm_advise(p, nbytes, SVM_ADVISE_UNSET_PREFERRED_LOCATION, 0_c_int), 'svm_advise unset')

  ! a Fortran kernel: a(i) = a(i) * 3 on device 0
  call ok(svm_launch(0_c_int, n, c_funloc(triple), p), 'svm_launch')
  call ok(svm_pin(p, nbytes), 'svm_pin')
  call ok(svm_query(p, nbytes, pages, 16_c_size_t), 'svm_query after pin')
  if (pages(1)%location /= SVM_HOST) call fail('pinned page not on the host')
  do i = 1, n
    if (a(i) /= 3 * int(i, c_int32_t)) then
      call fail('kernel result')
      exit
    end if
  end do
  call ok(svm_unpin(p, nbytes), 'svm_unpin')
  call ok(svm_stats(st), 'svm_stats')
  if (st%launches /= 1 .or. st%prefetches /= 1) call fail('svm_stats counters')
  call ok(svm_device_stats(0_c_int, st), 'svm_device_stats')
  call ok(svm_free(p), 'svm_free')
  if (svm_free(p) /= SVM_ERROR_INVALID_ARGUMENT) call fail('double svm_free')
  call ok(svm_finalize(), 'svm_finalize')

  if (failures > 0) stop 1
  write (*, '(a,a)') 'PASS: the Fortran module matches libsvmrt ', trim(v)

contains

  ! Device code in Fortran: the svm_kernel_fn interface.
  subroutine triple(ctx, idx, arg) bind(C)
    type(c_ptr), value :: ctx
    integer(c_size_t), value :: idx
    type(c_ptr), value :: arg
    integer(c_int32_t), pointer :: d(:)

    if (svm_kernel_device(ctx) /= 0) return
    call c_f_pointer(svm_device_ptr(ctx, arg), d, [idx + 1])
    d(idx + 1) = d(idx + 1) * 3
  end subroutine triple

  function offset(base, field) result(o)
    type(c_ptr), intent(in) :: base, field
    integer(c_size_t) :: o

    o = int(transfer(field, 0_c_intptr_t) - transfer(base, 0_c_intptr_t), c_size_t)
  end function offset

  subroutine same(fortran, which, what)
    integer(c_size_t), intent(in) :: fortran
    integer, intent(in) :: which
    character(len=*), intent(in) :: what
    integer(c_size_t) :: c

    c = svmt_c_layout(int(which, c_int))
    if (fortran /= c) then
      write (*, '(a,a,a,i0,a,i0)') 'FAIL: ', what, ': Fortran ', fortran, ', C ', c
      failures = failures + 1
    end if
  end subroutine same

  subroutine fail(what)
    character(len=*), intent(in) :: what

    write (*, '(a,a)') 'FAIL: ', what
    failures = failures + 1
  end subroutine fail

  subroutine ok(res, what)
    integer(c_int), intent(in) :: res
    character(len=*), intent(in) :: what

    if (res /= SVM_OK) then
      write (*, '(a,a,a,a)') 'FAIL: ', what, ': ', c_string(svm_result_string(res))
      stop 1
    end if
  end subroutine ok

  function c_string(cp) result(s)
    type(c_ptr), intent(in) :: cp
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: k

    call c_f_pointer(cp, chars, [256])
    k = 0
    do while (k < 256)
      if (chars(k + 1) == c_null_char) exit
      k = k + 1
    end do
    allocate (character(len=k) :: s)
    do k = 1, len(s)
      s(k:k) = chars(k)
    end do
  end function c_string
end program test_module
