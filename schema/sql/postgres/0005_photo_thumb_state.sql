-- A photo whose thumbnail can never be made says why, for good, so that its
-- thumbnail route answers at once instead of trying again on every request:
-- thumb_state is '' (made, or still to be made: see thumb_key), 'corrupt'
-- (the image data cannot be decoded), 'unsupported' (valid, but a feature
-- the decoders lack) or 'too_large' (decoding would exceed the server's
-- thumbnail memory budget); thumb_reason says what the decoder or the
-- estimate found. The original bytes stay as received whatever the state.
ALTER TABLE photos ADD COLUMN thumb_state TEXT NOT NULL DEFAULT '';
ALTER TABLE photos ADD COLUMN thumb_reason TEXT NOT NULL DEFAULT '';
