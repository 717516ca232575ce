"""``python -m course_lib.grading.sandbox --spec FILE.json -- COMMAND...``"""

import sys

from . import main

sys.exit(main())
