"""The address book of one export: every distinct raw address met, numbered, and keyed.

An address is a raw (postcode, house number, e-mail) triple in one period,
as the export spells it. It gets its *address number* the first time a row
carries it (:class:`agent.ingest.address_index.AddressIndex`), is normalised
at once into its identity and PC4 (:func:`identities`), and its identity is
sent for keying beside the pass (:class:`agent.ingest.keying.Keying`). Its
PC6 is looked up in the segment model at once too (its *area*, a row of the
model's PC6 or PC4 shares; :class:`agent.segments.Placement`), the one moment
the PC6 is known. At the end the book is the export's household table:
address number → household key, link key, PC4 and segment (drawn from the
key, in the address's area), one row per address that has an identity
(ADR 0009, ADR 0029).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from agent.ingest import normalise
from agent.ingest.address_index import AddressIndex
from agent.ingest.chunks import aligned
from agent.ingest.keying import Keying, PendingKeys
from agent.ingest.rows import ADDRESS_FIELDS
from agent.periods import label_of
from agent.segments import Placement
from agent.visits import ADDRESS_NUMBER
from protocol.keys import SecretBytes


def identities(addresses: pl.DataFrame) -> pl.DataFrame:
    """Distinct raw addresses → identity ("PC6|number|addition", else e-mail), PC4 and
    PC6 (for the segment lookup only: it is never stored).

    The house-number rule runs once per distinct house-number spelling (an
    export has a few thousand at most) and the e-mail rule only where the
    postcode and house number do not make an identity: the regexes are the
    costly part of keying millions of households."""
    houses = addresses.select(pl.col("house_number").unique()).with_columns(
        normalise.house_number(pl.col("house_number")).alias("house")
    )
    frame = addresses.join(
        houses, on="house_number", how="left", nulls_equal=True, maintain_order="left"
    ).with_columns(normalise.postcode_pc6_of(addresses["postcode"]).alias("pc6"))
    by_address = frame.select(
        pl.col("pc6").is_not_null() & pl.col("house").struct.field("number").is_not_null()
    ).to_series()
    by_mail = (~by_address).arg_true()
    mail = pl.repeat(None, frame.height, dtype=pl.String, eager=True).scatter(
        by_mail,
        frame["email"]
        .gather(by_mail)
        .to_frame()
        .select(normalise.email(pl.col("email")))
        .to_series(),
    )
    return frame.with_columns(mail.alias("email_norm")).select(
        "period_code",
        normalise.household_identity(pl.col("pc6"), pl.col("house"), pl.col("email_norm")).alias(
            "identity"
        ),
        pl.col("pc6").str.slice(0, 4).alias("pc4"),
        "pc6",
    )


class AddressBook:
    """The distinct raw addresses met so far in one export, each with a number.

    An address (per period) gets its number the first time a row carries it
    (see :class:`AddressIndex`) and is normalised at once, so a group's rows
    can be written as soon as the group is read: the visits store the number,
    and whether the address has an identity at all decides whether its rows
    are accepted. The HMACs run beside the pass (:class:`Keying`), one per
    distinct address per period (spelling variants of one address are keyed
    once each, to the same bytes, instead of being joined on the identity),
    and are needed only for the household table written at the end."""

    def __init__(
        self,
        key_for: Callable[[str], SecretBytes],
        keying: Keying,
        *,
        link: SecretBytes | None = None,
        expected: int = 0,
        placement: Placement | None = None,
    ) -> None:
        self.key_for = key_for
        self.keying = keying
        self.link = link  # the workspace's link key; None: no link keys (null)
        # The segment model's lookup; None: households are not placed (no segment column).
        self.placement = placement
        self.areas: list[pl.Series] = []
        self.index = AddressIndex(expected)
        self.keyless = pl.Series("keyless", [], dtype=pl.Boolean)
        self.pc4: list[pl.Series] = []
        self.periods: list[pl.Series] = []
        self.keys: list[tuple[int, list[tuple[pl.Series, PendingKeys]]]] = []

    def numbers(self, rows: pl.DataFrame, accepted: pl.Series | None) -> pl.Series:
        """The address number of each row (null for rejected rows), adding new addresses."""
        # A group arrives in about a hundred engine batches; probing contiguous hashes
        # is a fifth faster, and making them contiguous costs about 1 ms.
        h1, h2 = rows["h1"].rechunk(), rows["h2"].rechunk()
        # Rejected rows are looked up too and their numbers dropped afterwards:
        # probing hashes without nulls is faster than skipping those rows.
        found = self.index.find(h1, h2)
        if accepted is not None:
            found = found.set(~accepted, None)
        while (
            missing := found.is_null() if accepted is None else found.is_null() & accepted
        ).any():
            # One row per new address, the first row that carries it (so numbers follow
            # the rows' order), told apart by h1 alone: a quarter of the cost of telling
            # (h1, h2) pairs apart. A row whose address shares its h1 with another new
            # address (a 64-bit collision) is still missing after this round and is
            # added, with a later number, in the next.
            at = missing.arg_true()
            first = h1.gather(at).is_first_distinct()
            start = len(self.index)
            self._add(rows.select("period_code", "h1", "h2", *ADDRESS_FIELDS)[at.filter(first)])
            numbers = pl.int_range(start, len(self.index), dtype=pl.UInt32, eager=True)
            found = found.scatter(at.filter(first), numbers)
            later = at.filter(~first)  # an address met twice in this group: look it up
            if later.len():
                found = found.scatter(later, self.index.find(h1.gather(later), h2.gather(later)))
        return aligned(found, rows["h1"])

    def _add(self, new: pl.DataFrame) -> None:
        """Number new addresses, normalise them and send their identities for keying."""
        self.index.add(new["h1"], new["h2"])
        normalised = identities(new)
        self.keyless = pl.concat([self.keyless, normalised["identity"].is_null()], rechunk=True)
        self.pc4.append(normalised["pc4"])
        if self.placement is not None:
            self.areas.append(self.placement.areas(normalised["pc6"]))
        self.periods.append(normalised["period_code"])
        self.keys.append(
            (
                normalised.height,
                [
                    (
                        part["at"],
                        self.keying.submit(
                            part["identity"], self.key_for(label_of(int(str(code)))), self.link
                        ),
                    )
                    for (code,), part in normalised.with_row_index("at").group_by("period_code")
                ],
            )
        )

    def household_table(self) -> pl.DataFrame:
        """Every address with a key: address number, period code, key, link key, PC4 and,
        when households are placed, segment (an Enum of the model's labels).

        Built group by group, each group's keys released as soon as they are
        in the table, so that six million keys are held about once, not
        three times (answers, one long series, the filtered frame)."""
        frames = []
        offset = 0
        while self.keys:
            size, parts = self.keys.pop(0)
            household_key, link_key = _keys(size, parts)
            frame = pl.DataFrame(
                {
                    ADDRESS_NUMBER: pl.int_range(
                        offset, offset + size, dtype=pl.UInt32, eager=True
                    ),
                    "period_code": self.periods.pop(0),
                    "household_key": household_key,
                    "link_key": link_key,
                    "pc4": self.pc4.pop(0),
                }
            )
            if self.placement is None:
                frames.append(frame.filter(pl.col("household_key").is_not_null()))
            else:
                frame = frame.with_columns(self.areas.pop(0).alias("_area")).filter(
                    pl.col("household_key").is_not_null()
                )
                segment = self.placement.segments(frame["household_key"], frame["_area"])
                frames.append(frame.drop("_area").with_columns(segment))
            offset += size
        if not frames:
            schema: dict[str, pl.DataType] = {
                ADDRESS_NUMBER: pl.UInt32(),
                "period_code": pl.Int32(),
                "household_key": pl.Binary(),
                "link_key": pl.Binary(),
                "pc4": pl.String(),
            }
            if self.placement is not None:
                schema["segment"] = self.placement.labels.dtype
            return pl.DataFrame(schema=schema)
        return pl.concat(frames)


def _keys(size: int, parts: list[tuple[pl.Series, PendingKeys]]) -> tuple[pl.Series, pl.Series]:
    """The household and link keys of one group's new addresses, in their order, from
    the slices per period."""
    keys = pl.repeat(None, size, dtype=pl.Binary, eager=True).alias("household_key")
    links = keys.alias("link_key")
    for at, pending in parts:
        keys = keys.scatter(at, pending.result())
        links = links.scatter(at, pending.link_keys())
    return keys, links
