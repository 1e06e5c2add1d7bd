"""Thin shells around :meth:`thumbsmith.service.process.Processor.process`: each builds
events, hands them over and reports. Every one starts through :mod:`.bootstrap`."""
