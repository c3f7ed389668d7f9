! SPDX-License-Identifier: MIT
!
! samples/fortran: svmrt from Fortran 2008 through the module svmrt.
! Allocates SVM memory, writes it through a Fortran array pointer
! (c_f_pointer), prefetches it to device 0, asks where it is
! (svm_pointer_info), launches a C kernel on device 0 that computes
! x(i) = 2 x(i) + 1 there, and checks the result back on the host.
! Exit status 0 pass, 1 fail, 77 skip (no device, or a device without
! svm_launch, such as ze).
program svm_fortran_sample
  use svmrt
  implicit none

  interface
    subroutine svm_sample_scale(ctx, i, arg) bind(C, name="svm_sample_scale")
      import :: c_ptr, c_size_t
      type(c_ptr), value :: ctx
      integer(c_size_t), value :: i
      type(c_ptr), value :: arg
    end subroutine svm_sample_scale
  end interface

  integer(c_size_t), parameter :: n = 200000
  integer(c_size_t) :: nbytes, i
  type(c_ptr) :: p
  real(c_double), pointer :: x(:)
  type(svm_migrate_report_t), target :: rep
  type(svm_pointer_info_t) :: info
  type(svm_device_props_t) :: props
  type(svm_stats_t) :: st
  integer(c_int) :: r

  write (*, '(a,a)') 'svmrt ', c_string(svm_version())
  r = svm_init()
  if (r == SVM_ERROR_NO_DEVICE) then
    write (*, '(a)') 'SKIP: svm_init: no device'
    stop 77
  end if
  call check(r, 'svm_init')

  nbytes = n * c_sizeof(0.0_c_double)
  call check(svm_alloc(p, nbytes), 'svm_alloc')
  call c_f_pointer(p, x, [n])
  do i = 1, n
    x(i) = real(i, c_double)
  end do

  ! move it to device 0 before the kernel needs it
  call check(svm_prefetch(p, nbytes, 0_c_int, c_loc(rep)), 'svm_prefetch')
  if (rep%failed /= 0 .or. rep%moved + rep%already /= rep%pages) then
    write (*, '(a,i0,a,i0)') 'FAIL: prefetch report: failed ', rep%failed, &
      ' of ', rep%pages
    stop 1
  end if
  call check(svm_pointer_info(p, info), 'svm_pointer_info')
  if (.not. c_associated(info%base, p) .or. info%bytes /= nbytes .or. &
      info%location /= 0) then
    write (*, '(a,i0)') 'FAIL: svm_pointer_info: location ', info%location
    stop 1
  end if

  call check(svm_device_props(0_c_int, props), 'svm_device_props')
  if (props%compute_threads == 0) then
    write (*, '(a)') 'SKIP: device 0 runs no svm_launch kernels'
    stop 77
  end if
  call check(svm_launch(0_c_int, n, c_funloc(svm_sample_scale), p), 'svm_launch')

  ! host reads: the pages come back on first touch
  do i = 1, n
    if (abs(x(i) - (2 * real(i, c_double) + 1)) > 0.25_c_double) then  ! exact in fact
      write (*, '(a,i0,a,f0.1)') 'FAIL: x(', i, ') = ', x(i)
      stop 1
    end if
  end do
  call check(svm_stats(st), 'svm_stats')
  if (st%launches /= 1 .or. st%pages_to_device < 1) then
    write (*, '(a)') 'FAIL: svm_stats does not show the launch and the prefetch'
    stop 1
  end if
  call check(svm_free(p), 'svm_free')
  call check(svm_finalize(), 'svm_finalize')
  write (*, '(a,i0,a)') 'PASS: ', n, ' values computed on device 0 and checked'

contains

  subroutine check(res, what)
    integer(c_int), intent(in) :: res
    character(len=*), intent(in) :: what

    if (res /= SVM_OK) then
      write (*, '(a,a,a,a)') 'FAIL: ', what, ': ', c_string(svm_result_string(res))
      stop 1
    end if
  end subroutine check

  ! A C string (const char *) as a Fortran string.
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
end program svm_fortran_sample
