import os; exec(open(os.path.join(os.path.dirname(__file__), 'gen.py')).read())
# Resize against PyTorch 1.13 F.interpolate in float64 (the modes torch
# exports: nearest = asymmetric/floor, bilinear and bicubic = half_pixel or
# align_corners, A = -0.75).
tt=lambda a: torch.from_numpy(np.ascontiguousarray(a)).double()
nn=lambda t: t.numpy()
F32=lambda *v: np.array(v,dtype=np.float32)
I=lambda *v: np.array(v,dtype=np.int64)
E=np.zeros((0,),dtype=np.float32)
out=[]
x=r(1,2,3,4)
out.append(case("nearest scales 2 asymmetric floor","Resize",13,{"mode":"nearest","coordinate_transformation_mode":"asymmetric","nearest_mode":"floor"},
  [x,E,F32(1,1,2,2)],[nn(F.interpolate(tt(x),scale_factor=2,mode="nearest"))],consts=[1,2]))
out.append(case("linear sizes half_pixel","Resize",13,{"mode":"linear"},
  [x,E,E,I(1,2,5,7)],[nn(F.interpolate(tt(x),size=(5,7),mode="bilinear",align_corners=False))],consts=[1,2,3]))
out.append(case("linear downsample align_corners","Resize",13,{"mode":"linear","coordinate_transformation_mode":"align_corners"},
  [x,E,E,I(1,2,2,3)],[nn(F.interpolate(tt(x),size=(2,3),mode="bilinear",align_corners=True))],consts=[1,2,3]))
out.append(case("cubic sizes half_pixel","Resize",13,{"mode":"cubic"},
  [x,E,E,I(1,2,6,5)],[nn(F.interpolate(tt(x),size=(6,5),mode="bicubic",align_corners=False))],consts=[1,2,3]))
x1=r(2,3,5)
# torch computes (x+0.5)*in/out-0.5 also for size 1 (ONNX's pytorch_half_pixel would take index 0): half_pixel.
out.append(case("linear 1d half_pixel to size 1","Resize",13,{"mode":"linear"},
  [x1,E,E,I(2,3,1)],[nn(F.interpolate(tt(x1),size=1,mode="linear",align_corners=False))],consts=[1,2,3]))
out.append(case("upsample opset 9 nearest","Upsample",9,{"mode":"nearest"},
  [x,F32(1,1,2,3)],[nn(F.interpolate(tt(x),scale_factor=(2,3),mode="nearest"))],consts=[1]))
print("// Cases computed with PyTorch 1.13 F.interpolate in float64 (/usr/bin/python3, engine/testdata/gencases/resize.py, seed 7).\nvar resizeCases = []opCase{\n"+"".join(out)+"}")
