# IPython profile used when the book is executed (`make book`, `make test` set
# IPYTHONDIR to book/ipython). Output that C/C++ libraries write straight to the
# process's file descriptors (TensorFlow's absl/oneDNN/CUDA log lines) then goes to
# the build log instead of being captured into the notebook's cell outputs.
c = get_config()  # noqa: F821 - provided by IPython when it loads this file
c.IPKernelApp.capture_fd_output = False
# jupyter_client 8.10 makes every kernel warn that it talks over loopback TCP without
# encryption; the book's kernels only ever talk to the local build, so keep the log clean.
c.IPKernelApp.log_level = "ERROR"
