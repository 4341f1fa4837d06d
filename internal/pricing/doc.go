// Package pricing is OpenCPO's tariff engine: it holds OCPI 2.2.1 Tariff objects, checks them,
// and prices a charging session's timeline against one.
//
// It is pure: no I/O, no clock, no logging, no package-level mutable state. Every input (the
// tariff, the session timeline, its time zone) is passed in and the same input always gives the
// same Cost. It imports only package domain (meter samples, error kinds) and
// github.com/shopspring/decimal: money and energy are decimals, never float64.
//
// How a session is priced (OCPI 2.2.1, module Tariffs):
//
//   - Whether a period is charging or parking comes from the EVSE's reported charging state
//     where one is known (Timeline.WithStates: Charging is charging; SuspendedEV, SuspendedEVSE,
//     EVConnected and Idle are parking, whatever the meter did), and from energy and power
//     (FromSamples) only where none is.
//   - The timeline is cut at every instant where a restriction can change its answer: local
//     start_time / end_time of day (in the timeline's Location, DST transitions included), local
//     midnight (start_date / end_date / day_of_week), session start + min_duration / max_duration,
//     and the moments cumulative energy reaches min_kwh / max_kwh (energy is taken as delivered
//     evenly within a period).
//   - For every piece and every dimension the first element (in tariff order) that has a price
//     component of that dimension and whose restrictions all match applies. ENERGY prices the
//     energy delivered, TIME the time charging, PARKING_TIME the time connected but not charging.
//     FLAT is charged once: by the first element with a FLAT component that matches at the
//     earliest moment of the session where any does. A dimension without a matching element is
//     free. Elements with a reservation restriction price reservations, never charging sessions.
//   - min_* restrictions are inclusive and max_* exclusive: min_kwh/max_kwh against the energy
//     delivered before the piece, min_duration/max_duration against the time since session start,
//     min_power/max_power (kW) and min_current/max_current (A, sum over phases) against the highest
//     value observed in the period.
//   - step_size follows OCPI's "last period" rule: the total volume of a dimension over the whole
//     session is rounded up to a multiple of the step_size of the last element that priced that
//     dimension, and the extra volume is billed at that element's price.
//   - VAT is applied per price component. A component without vat adds no VAT (its incl-VAT amount
//     equals its excl-VAT amount).
//   - min_price / max_price clamp the excl-VAT and incl-VAT totals independently, as OCPI says.
//     When a bound has no incl_vat, the incl-VAT total is scaled with the excl-VAT one.
//   - Nothing is rounded until the end: the breakdown holds exact amounts and only the two totals
//     are rounded to the currency's minor unit, half-up (away from zero; amounts are never
//     negative).
package pricing
