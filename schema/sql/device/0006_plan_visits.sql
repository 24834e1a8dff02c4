-- Planned visits of this device's user (schema.PlanVisit as pulled, JSON):
-- `patrol tasks` lists each until the device has an inspection of its
-- venue started on or after its day. A reset pull drops them and sends
-- them again.
CREATE TABLE plan_visits (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;
