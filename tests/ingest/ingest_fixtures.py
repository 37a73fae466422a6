"""Constants shared by the ingest tests: a mapping and a small Dutch export."""

MAPPING = """\
[columns]
order_id = "Bestelnummer"
visit_date = "Voorstellingsdatum"
postcode = "Postcode"
house_number = "Huisnummer"
email = "E-mailadres"
tickets = "Aantal kaarten"
price = "Prijs"
event = "Voorstelling"
discipline = "Genre"

[discipline_map]
"Toneel" = "theater"
"Klassiek" = "music"
"""

HEADER = (
    "Bestelnummer;Voorstellingsdatum;Voorstelling;Genre;Postcode;Huisnummer;E-mailadres;"
    "Aantal kaarten;Prijs"
)

GOOD_ROWS = [
    "B1;14-08-2026;Hamlet;Toneel;1234 ab;12-a;jan@example.nl;2;24,50",
    "B2;15-08-2026;Hamlet;Toneel;1234AB;12A;;1;24,50",
    "B3;16-08-2026;Mahler 5;Klassiek;;;Piet@Example.NL ;3;1.024,00",
    "B4;30-09-2026;Mahler 5;Klassiek;9999 zz;1;;1;10",
]
