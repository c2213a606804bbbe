#!/bin/sh
# Lead qualification with kommo-lead (README, "Workflows"): find the person
# among Kommo's contacts, or add them; open a lead linked to that contact;
# move it to the next stage as the conversation goes on; list the person's
# leads. Prints that list (lead and contact ids on each line).
#
#   qualify.sh NAME PHONE [EMAIL]        (or NAME, PHONE, EMAIL in the environment)
#   STATUS=ID   the stage to move the lead to (kommo-lead fields lists them)
#   KOMMO_LEAD  the kommo-lead to run (default: kommo-lead on the PATH)
# The account, token and field ids come from kommo-lead's own configuration.
set -eu

name=${1:-${NAME:-}}
phone=${2:-${PHONE:-}}
email=${3:-${EMAIL:-}}
status=${STATUS:?set STATUS to the id of the stage a qualified lead goes to}
kl=${KOMMO_LEAD:-kommo-lead}
if [ -z "$name" ] || [ -z "$phone" ]; then
    echo "usage: qualify.sh NAME PHONE [EMAIL]" >&2
    exit 64
fi

# 1. The contact: --first prints the id of the contact that holds this very
#    phone, or exits 1 (as grep does) when none does; any other status is an
#    error and stops the script.
rc=0
contact=$("$kl" contacts search --first "$phone") || rc=$?
if [ "$rc" -eq 1 ]; then
    # nobody has it: add the person (an empty --email counts as not given)
    out=$("$kl" contacts create --name "$name" --phone "$phone" --email "$email")
    contact=${out#contact_id=}
elif [ "$rc" -ne 0 ]; then
    exit "$rc"
fi

# 2. A lead linked to that contact in the request that creates it.
out=$("$kl" leads create --name "Qualification: $name" --contact "$contact")
lead=${out#lead_id=}
echo "lead $lead, contact $contact" >&2

# 3. Later, as the conversation goes on: the lead moves to its next stage
#    (this runs the stage's automations in Kommo).
"$kl" leads update "$lead" --status "$status" >/dev/null

# 4. The related leads: every lead named after the person, with its contacts.
"$kl" leads search "$name"
