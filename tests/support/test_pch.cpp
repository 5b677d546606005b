// The translation unit that builds tests/support/test_pch.h once for all GoogleTest executables.
