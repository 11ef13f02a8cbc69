"""sFlow v5 counter samples as points: `wire` parses, `naming` names, `rates` differentiates,
`decoder` ties them into one batch per datagram. See `naming` for the path scheme."""
