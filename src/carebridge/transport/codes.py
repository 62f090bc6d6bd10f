"""Transport vocabularies: the mobility levels a ride is booked at, escorts, the ride
lifecycle and the steps between its statuses, and the travel buffer's bounds.

Mobility levels follow the levels of service Medicaid non-emergency medical transportation
(NEMT) brokers book: a sedan for those who walk, with a driver's help (door-to-door), a
wheelchair van with a lift or ramp, a bariatric wheelchair van, and a stretcher van.
"""

from __future__ import annotations

MOBILITY = {
    "ambulatory": "Ambulatory (walks on their own; sedan or taxi)",
    "assisted": "Ambulatory with help (cane or walker; door-to-door help from the driver)",
    "wheelchair": "Wheelchair (wheelchair van with lift or ramp; stays in own chair)",
    "bariatric": "Bariatric wheelchair (wide-chair van, high weight limit)",
    "stretcher": "Stretcher (cannot sit; stretcher van with two attendants)",
}
MOBILITY_SHORT = {
    "ambulatory": "Ambulatory",
    "assisted": "Ambulatory with help",
    "wheelchair": "Wheelchair",
    "bariatric": "Bariatric wheelchair",
    "stretcher": "Stretcher",
}
ESCORTS = {"none": "No escort", "caregiver": "Caregiver rides along"}

# requested -> confirmed (with a confirmation number) -> completed / no-show; cancelled from
# either open status, with a reason.
OPEN_STATUSES = ("requested", "confirmed")
STATUSES = {
    "requested": "Requested",
    "confirmed": "Confirmed",
    "completed": "Completed",
    "no-show": "No-show",
    "cancelled": "Cancelled",
}
ACTIONS = {
    "confirm": "confirmed",
    "complete": "completed",
    "no-show": "no-show",
    "cancel": "cancelled",
}
ACTION_WORDS = {
    "confirm": "Confirm ride",
    "complete": "Ride completed",
    "no-show": "Patient not at pickup (no-show)",
    "cancel": "Cancel ride",
}
FROM = {
    "confirm": ("requested", "confirmed"),  # confirming again corrects the number
    "complete": ("confirmed",),
    "no-show": ("confirmed",),
    "cancel": OPEN_STATUSES,
}

# Minutes between pickup and the appointment's start a ride may set (the clinic's default is
# ``settings.ride_buffer_minutes``).
MIN_BUFFER_MINUTES = 10
MAX_BUFFER_MINUTES = 480
# A ride still unconfirmed this close to pickup raises a task for the coordinators.
UNCONFIRMED_WARNING_HOURS = 48
TASK_KEY = "ride-unconfirmed"


def actions_from(status: str) -> list[str]:
    return [action for action, sources in FROM.items() if status in sources]
