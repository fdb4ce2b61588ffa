import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "miiwrap.settings")

application = get_wsgi_application()

# What is loaded by now (settings, apps, models) lives as long as the worker. Frozen out
# of the garbage collector's passes, a full pass no longer walks all of it again during
# a request that makes many objects: the purveyor's comparison after a write to one
# organization unpickles a hundred organizations' kept parts, and took a fifth longer.
gc.collect()
gc.freeze()
