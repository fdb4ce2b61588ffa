"""How long a practitioner may dispute an observation of themselves: plain date arithmetic.

The window opens the day the observation is submitted, in the practitioner's own time
zone, and runs `days` days after it: submitted on 1 May with 14 days, the last day to
dispute is 15 May, and on 16 May a dispute is refused. Both bounds are inclusive.
"""

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    opens_on: dt.date
    days: int

    @property
    def closes_on(self):
        """The last day a dispute is accepted."""
        return self.opens_on + dt.timedelta(days=self.days)

    def is_open_on(self, today):
        return self.opens_on <= today <= self.closes_on
