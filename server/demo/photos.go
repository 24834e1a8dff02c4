package demo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/jpeg"
	"sync"
)

// demoPhoto is one of the demo district's evidence photos.
type demoPhoto struct {
	sha  string
	data []byte
}

var photoSet struct {
	once sync.Once
	list []demoPhoto
}

// demoPhotos are a dozen small JPEGs, made once and the same every time:
// stand-ins for the evidence inspectors photograph, so that the demo's
// pages show thumbnails and its re-checks can pass.
func demoPhotos() []demoPhoto {
	photoSet.once.Do(func() {
		for i := 0; i < 12; i++ {
			img := image.NewRGBA(image.Rect(0, 0, 320, 240))
			base := color.RGBA{uint8(60 + 15*i), uint8(90 + 11*(i%5)), uint8(140 - 9*i), 255}
			for y := 0; y < 240; y++ {
				for x := 0; x < 320; x++ {
					c := base
					if (x/40+y/40+i)%2 == 0 { // a tiled wall and a door frame
						c = color.RGBA{base.R / 2, base.G / 2, base.B / 2, 255}
					}
					if x > 120+i*4 && x < 200+i*4 && y > 60 {
						c = color.RGBA{200, 180, uint8(120 + 10*i), 255}
					}
					img.SetRGBA(x, y, c)
				}
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70}); err != nil {
				panic(err) // encoding into memory does not fail
			}
			sum := sha256.Sum256(buf.Bytes())
			photoSet.list = append(photoSet.list, demoPhoto{sha: hex.EncodeToString(sum[:]), data: buf.Bytes()})
		}
	})
	return photoSet.list
}
