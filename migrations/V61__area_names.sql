-- Names of the areas that municipalities add up to: the 31 Kreise (and the
-- Städteregion Aachen) and the 5 Regierungsbezirke of NRW. The shipped
-- boundary file (VG5000 municipalities) and the municipality register rows
-- carry no names for them, so without this table a Kreis was called by its
-- key ("Kreis 05162"). A kreisfreie Stadt needs no row: it is its one
-- municipality and named in the data. Official names per the municipality
-- register of the Statistische Bundesamt (GV-ISys, Kreise and
-- Regierungsbezirke, status 31.12.2019; Datenlizenz Deutschland –
-- Namensnennung 2.0, © Statistisches Bundesamt (Destatis)).
CREATE TABLE area_name (
    ags   text PRIMARY KEY CHECK (ags ~ '^[0-9]{3}$' OR ags ~ '^[0-9]{5}$'),
    name  text NOT NULL,
    kind  text NOT NULL CHECK (kind IN ('Kreis', 'Regierungsbezirk'))
);

INSERT INTO area_name (ags, name, kind) VALUES
    ('051', 'Regierungsbezirk Düsseldorf', 'Regierungsbezirk'),
    ('053', 'Regierungsbezirk Köln', 'Regierungsbezirk'),
    ('055', 'Regierungsbezirk Münster', 'Regierungsbezirk'),
    ('057', 'Regierungsbezirk Detmold', 'Regierungsbezirk'),
    ('059', 'Regierungsbezirk Arnsberg', 'Regierungsbezirk'),
    ('05154', 'Kreis Kleve', 'Kreis'),
    ('05158', 'Kreis Mettmann', 'Kreis'),
    ('05162', 'Rhein-Kreis Neuss', 'Kreis'),
    ('05166', 'Kreis Viersen', 'Kreis'),
    ('05170', 'Kreis Wesel', 'Kreis'),
    ('05334', 'Städteregion Aachen', 'Kreis'),
    ('05358', 'Kreis Düren', 'Kreis'),
    ('05362', 'Rhein-Erft-Kreis', 'Kreis'),
    ('05366', 'Kreis Euskirchen', 'Kreis'),
    ('05370', 'Kreis Heinsberg', 'Kreis'),
    ('05374', 'Oberbergischer Kreis', 'Kreis'),
    ('05378', 'Rheinisch-Bergischer Kreis', 'Kreis'),
    ('05382', 'Rhein-Sieg-Kreis', 'Kreis'),
    ('05554', 'Kreis Borken', 'Kreis'),
    ('05558', 'Kreis Coesfeld', 'Kreis'),
    ('05562', 'Kreis Recklinghausen', 'Kreis'),
    ('05566', 'Kreis Steinfurt', 'Kreis'),
    ('05570', 'Kreis Warendorf', 'Kreis'),
    ('05754', 'Kreis Gütersloh', 'Kreis'),
    ('05758', 'Kreis Herford', 'Kreis'),
    ('05762', 'Kreis Höxter', 'Kreis'),
    ('05766', 'Kreis Lippe', 'Kreis'),
    ('05770', 'Kreis Minden-Lübbecke', 'Kreis'),
    ('05774', 'Kreis Paderborn', 'Kreis'),
    ('05954', 'Ennepe-Ruhr-Kreis', 'Kreis'),
    ('05958', 'Hochsauerlandkreis', 'Kreis'),
    ('05962', 'Märkischer Kreis', 'Kreis'),
    ('05966', 'Kreis Olpe', 'Kreis'),
    ('05970', 'Kreis Siegen-Wittgenstein', 'Kreis'),
    ('05974', 'Kreis Soest', 'Kreis'),
    ('05978', 'Kreis Unna', 'Kreis');
