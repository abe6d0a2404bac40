#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""mount(2) directly, printing the errno name, so tests check the errno rather than mount(8)'s prose.

    mnt.py DEV DIR [ro|rw] [OPTIONS]   prints OK or the errno name (EINVAL, EUCLEAN, ...); exit 0 on OK
"""
import ctypes
import errno
import os
import sys

MS_RDONLY = 1
libc = ctypes.CDLL(None, use_errno=True)
dev, target = sys.argv[1].encode(), sys.argv[2].encode()
flags = MS_RDONLY if (len(sys.argv) < 4 or sys.argv[3] == "ro") else 0
data = sys.argv[4].encode() if len(sys.argv) > 4 else None
if libc.mount(dev, target, b"ferrofs", flags, data) == 0:
    print("OK")
    sys.exit(0)
e = ctypes.get_errno()
print(errno.errorcode.get(e, str(e)))
sys.exit(1)
