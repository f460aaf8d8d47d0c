import os; exec(open(os.path.join(os.path.dirname(__file__), 'gen.py')).read())
# Old (opset 1-6) versions of ops whose meaning changed at opset 7, as
# ONNX's spec of those versions defines them, computed with numpy.
out=[]
a=r(2,3,4); b=r(3)
out.append(case("add opset 6 broadcast axis 1","Add",6,{"broadcast":1,"axis":1},[a,b],[a+b.reshape(3,1)]))
b2=r(4)
out.append(case("mul opset 6 broadcast trailing","Mul",6,{"broadcast":1},[a,b2],[a*b2]))
out.append(case("sub opset 6 same shapes","Sub",6,{},[a,a*2],[a-a*2]))
slope=r(3)
out.append(case("prelu opset 6 per channel","PRelu",6,{},[a,slope],[np.where(a<0,a*slope.reshape(3,1),a)]))
print("// Cases computed with numpy 1.24 (/usr/bin/python3, engine/testdata/gencases/legacy.py, seed 7).\nvar legacyCases = []opCase{\n"+"".join(out)+"}")
c=r(2,2)
rest=[]
rest.append(case("concat opset 1 default axis 1","Concat",1,{},[c,c*3],[np.concatenate([c,c*3],axis=1)]))
rest.append(case("reshape opset 1 attribute","Reshape",1,{"shape":[4,-1]},[c],[c.reshape(4,1)]))
print("var legacyShapeCases = []opCase{\n"+"".join(rest)+"}")
