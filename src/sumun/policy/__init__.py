"""Policy: classification and decisions over typed data.

Everything under `sumun.policy` is pure: functions over typed values, no I/O, no clock, no
module-level mutable state. The gateway feeds it text and configuration; it returns findings and
decisions. An architecture test keeps I/O imports out.
"""
