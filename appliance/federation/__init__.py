"""Both sides of the wire: report schema, canonical form, signing (here); the appliance's
report builder, outbox and push; and the regional hub (`appliance.federation.hub`)."""

PROTOCOL = "epn-report/1"
