"""The progress bar of a run: tqdm's (a widget in notebooks) when tqdm is installed, else a line
on stderr that is rewritten in place."""

import sys
import time


class Progress:
    def __init__(self, enabled, label="simulating"):
        self.enabled, self.label = enabled, label
        self.bar, self.total, self.started = None, 0, time.monotonic()

    def __call__(self, done, total):
        if not self.enabled:
            return
        if self.bar is None:
            self.total = total
            try:
                # tqdm's notebook widget needs ipywidgets; without it the text bar (also in Jupyter).
                try:
                    import ipywidgets  # noqa: F401
                    from tqdm.auto import tqdm
                except ImportError:
                    from tqdm import tqdm

                self.bar = tqdm(total=total, desc=self.label, unit="step", leave=False)
            except ImportError:
                self.bar = False
        if self.bar:
            self.bar.update(done - self.bar.n)
        else:
            rate = done / max(time.monotonic() - self.started, 1e-9)
            sys.stderr.write(f"\r{self.label}: {100.0 * done / max(total, 1):5.1f}% ({rate:.3g} steps/s)")
            sys.stderr.flush()

    def close(self):
        if self.bar:
            self.bar.close()
        elif self.bar is False:
            sys.stderr.write("\n")
        self.bar = None
