import os; exec(open(os.path.join(os.path.dirname(__file__), 'gen.py')).read())
erf=np.vectorize(math.erf)
x=np.linspace(-3,3,12,dtype=np.float32).reshape(3,4)
xd=x.astype(np.float64)
sa,sg=1.67326319217681884765625,1.05070102214813232421875
sp=lambda v: np.log1p(np.exp(v))
U=[("relu","Relu",14,{},np.maximum(xd,0)),
("leakyrelu","LeakyRelu",16,{"alpha":0.1},np.where(xd<0,0.1*xd,xd)),
("leakyrelu default","LeakyRelu",16,{},np.where(xd<0,0.01*xd,xd)),
("elu","Elu",6,{"alpha":2.0},np.where(xd<0,2*(np.exp(xd)-1),xd)),
("selu","Selu",6,{},np.where(xd<=0,sg*sa*(np.exp(xd)-1),sg*xd)),
("celu","Celu",12,{"alpha":1.5},np.maximum(0,xd)+np.minimum(0,1.5*(np.exp(xd/1.5)-1))),
("sigmoid","Sigmoid",13,{},1/(1+np.exp(-xd))),
("hardsigmoid","HardSigmoid",6,{"alpha":0.3,"beta":0.4},np.clip(0.3*xd+0.4,0,1)),
("hardswish","HardSwish",14,{},xd*np.clip(xd/6+0.5,0,1)),
("tanh","Tanh",13,{},np.tanh(xd)),
("softplus","Softplus",1,{},sp(xd)),
("softsign","Softsign",1,{},xd/(1+np.abs(xd))),
("gelu","Gelu",20,{},0.5*xd*(1+erf(xd/math.sqrt(2)))),
("gelu tanh","Gelu",20,{"approximate":"tanh"},0.5*xd*(1+np.tanh(math.sqrt(2/math.pi)*(xd+0.044715*xd**3)))),
("mish","Mish",18,{},xd*np.tanh(sp(xd))),
("erf","Erf",13,{},erf(xd)),
("exp","Exp",13,{},np.exp(xd)),
("neg","Neg",13,{},-xd),
("abs","Abs",13,{},np.abs(xd)),
("thresholdedrelu","ThresholdedRelu",10,{"alpha":0.5},np.where(xd>0.5,xd,0)),
("identity","Identity",16,{},xd),
("clip attrs","Clip",6,{"min":-1.0,"max":0.5},np.clip(xd,-1,0.5)),
]
out=[case(n,op,o,a,[x],[w]) for n,op,o,a,w in U]
p=np.linspace(0.25,4,8,dtype=np.float32).reshape(2,4); pd=p.astype(np.float64)
out.append(case("log","Log",13,{},[p],[np.log(pd)]))
out.append(case("sqrt","Sqrt",13,{},[p],[np.sqrt(pd)]))
out.append(case("reciprocal","Reciprocal",13,{},[p],[1/pd]))
out.append(case("clip min input only","Clip",13,{},[x,np.array(-0.5,dtype=np.float32)],[np.maximum(xd,-0.5)]))
out.append(case("clip max input only","Clip",13,{},[x,None,np.array(1.0,dtype=np.float32)],[np.minimum(xd,1)]))
out.append(case("clip no bounds","Clip",13,{},[x],[xd]))
out.append(case("neg int64","Neg",13,{},[np.array([3,-4,0],dtype=np.int64)],[np.array([-3,4,0],dtype=np.int64)]))
e=np.array([-100,-20,-1e-3,0,1e-3,20,88],dtype=np.float32)
out.append(case("exp range","Exp",13,{},[e],[np.exp(e.astype(np.float64))]))
out.append(case("tanh range","Tanh",13,{},[e],[np.tanh(e.astype(np.float64))]))
out.append(case("sigmoid range","Sigmoid",13,{},[e],[1/(1+np.exp(-e.astype(np.float64)))]))
print("// Cases computed with numpy 1.24 in float64 (/usr/bin/python3, engine/testdata/gencases/g2.py).\nvar unaryCases = []opCase{\n"+"".join(out)+"}")
out=[]
x=r(2,3,4); xd=x.astype(np.float64)
def sm(v,axis): e=np.exp(v-v.max(axis=axis,keepdims=True)); return e/e.sum(axis=axis,keepdims=True)
def lsm(v,axis): return np.log(sm(v,axis))
x2=xd.reshape(2,12)
out.append(case("softmax opset 11 default axis 1 coerces to 2-D","Softmax",11,{},[x],[sm(x2,1).reshape(2,3,4)]))
out.append(case("softmax opset 11 axis 2","Softmax",11,{"axis":2},[x],[sm(xd,2)]))
out.append(case("softmax opset 13 default axis -1","Softmax",13,{},[x],[sm(xd,-1)]))
out.append(case("softmax opset 13 axis 1","Softmax",13,{"axis":1},[x],[sm(xd,1)]))
out.append(case("logsoftmax opset 11 default axis 1","LogSoftmax",11,{},[x],[lsm(x2,1).reshape(2,3,4)]))
out.append(case("logsoftmax opset 13 axis 0","LogSoftmax",13,{"axis":0},[x],[lsm(xd,0)]))
print("// Cases computed with numpy 1.24 in float64 (/usr/bin/python3, engine/testdata/gencases/g2.py, seed 7).\nvar softmaxCases = []opCase{\n"+"".join(out)+"}")
