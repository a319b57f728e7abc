"""`photolab serve`: the Voilà server family members use, hardened for guests.

- `frames`: checks each kernel-websocket frame before jupyter_server's deserializer sees it.
- `voila`: the pieces Voilà is configured with (guarded websocket connection, a kernel
  manager with a cap and reclaiming, a logout that works) and the command line.
"""

#: set to "1" for the kernels of `photolab serve`'s pages (`photolab.widgets.early`)
SERVED_ENV = "PHOTOLAB_SERVED"
