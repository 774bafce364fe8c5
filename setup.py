"""The two optional C modules; everything else about the package is in pyproject.toml.

Optional: where they cannot be compiled (no C compiler), the build goes on without them,
lstmprep.fastjson leaves every file to the exact json path and lstmprep.padding pads with
numpy. Declared here rather than in pyproject.toml, whose `ext-modules` table setuptools
still calls experimental.
"""

import numpy
from setuptools import Extension, setup

setup(
    ext_modules=[
        # the scanner behind lstmprep.fastjson
        Extension(
            "lstmprep._fastjson",
            ["lstmprep/_fastjson.c"],
            depends=["lstmprep/_checked.h"],
            optional=True,
        ),
        # the row copies behind lstmprep.padding (numpy's C API for pad_sequences on lists)
        Extension(
            "lstmprep._padcore",
            ["lstmprep/_padcore.c"],
            depends=["lstmprep/_checked.h"],
            include_dirs=[numpy.get_include()],
            optional=True,
        ),
    ]
)
