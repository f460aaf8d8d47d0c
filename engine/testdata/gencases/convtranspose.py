import os; exec(open(os.path.join(os.path.dirname(__file__), 'gen.py')).read())
# ConvTranspose against PyTorch 1.13 F.conv_transpose*d in float64.
tt=lambda a: torch.from_numpy(np.ascontiguousarray(a)).double()
nn=lambda t: t.numpy()
out=[]
x=r(1,4,3,3); w=r(4,2,3,3); b=r(4)
out.append(case("convtranspose2d group 2 stride 2 pads output_padding bias","ConvTranspose",11,{"group":2,"strides":[2,2],"pads":[1,1,1,1],"output_padding":[1,1]},[x,w,b],
  [nn(F.conv_transpose2d(tt(x),tt(w),tt(b),stride=2,padding=1,output_padding=1,groups=2))]))
w2=r(4,3,2,3)
out.append(case("convtranspose2d dilations strides","ConvTranspose",11,{"strides":[3,2],"dilations":[2,1]},[x,w2],
  [nn(F.conv_transpose2d(tt(x),tt(w2),stride=(3,2),dilation=(2,1)))]))
x1=r(2,3,4); w1=r(3,2,3)
out.append(case("convtranspose1d pads","ConvTranspose",11,{"pads":[1,2]},[x1,w1],
  # asymmetric pads: full output cropped by 1 at the start and 2 at the end
  [nn(F.conv_transpose1d(tt(x1),tt(w1)))[:,:,1:-2]]))
# output_shape [5,6] on in 3x3, stride 2, k 3: full 7x7, total pads 2 and 1; NOTSET puts the odd one first.
y=nn(F.conv_transpose2d(tt(x),tt(w2[:, :, :, :])[:, :, :2, :2].repeat(1,1,1,1) if False else tt(w2),stride=2))
full=nn(F.conv_transpose2d(tt(x),tt(w2),stride=2)) # [1,3,6,7]
out.append(case("convtranspose2d output_shape","ConvTranspose",11,{"strides":[2,2],"output_shape":[5,6]},[x,w2],[full[:,:,1:6,1:7]]))
x3=r(1,2,2,2,2); w3=r(2,1,2,2,2)
out.append(case("convtranspose3d","ConvTranspose",11,{"strides":[1,2,1]},[x3,w3],[nn(F.conv_transpose3d(tt(x3),tt(w3),stride=(1,2,1)))]))
print("// Cases computed with PyTorch 1.13 F.conv_transpose*d in float64 (/usr/bin/python3, engine/testdata/gencases/convtranspose.py, seed 7);\n// asymmetric pads and output_shape crop the full output as ONNX's spec says.\nvar convTransposeCases = []opCase{\n"+"".join(out)+"}")
