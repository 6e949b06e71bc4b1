"""The kernel: settings-free services every module builds on; imports no module."""
