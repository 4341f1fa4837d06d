package main

// The time zone database is embedded (about 450 KB) so that location time zones validate the
// same on a machine or container without /usr/share/zoneinfo; the system's copy still wins when
// present.
import _ "time/tzdata"
