import os; exec(open(os.path.join(os.path.dirname(__file__), 'gen.py')).read())
# RNN, GRU and LSTM against PyTorch 1.13's nn.RNN/GRU/LSTM in float64, with
# the gate orders converted as torch.onnx exports them (LSTM i,f,g,o ->
# i,o,f,c; GRU r,z,n -> z,r,h with linear_before_reset=1).
torch.manual_seed(0)
out=[]
def wts(m, perm, dirs):
    W=[];R=[];B=[]
    for d in range(dirs):
        sfx='_reverse' if d==1 else ''
        wih=getattr(m,'weight_ih_l0'+sfx).detach().numpy(); whh=getattr(m,'weight_hh_l0'+sfx).detach().numpy()
        bih=getattr(m,'bias_ih_l0'+sfx).detach().numpy(); bhh=getattr(m,'bias_hh_l0'+sfx).detach().numpy()
        H=whh.shape[1]
        re=lambda a: np.concatenate([a[p*H:(p+1)*H] for p in perm],0)
        W.append(re(wih)); R.append(re(whh)); B.append(np.concatenate([re(bih),re(bhh)]))
    return [np.round(np.stack(a),3).astype(np.float32) for a in (W,R,B)]
def setw(m, W, R, B, perm, dirs):
    inv=np.argsort(perm)
    with torch.no_grad():
        for d in range(dirs):
            sfx='_reverse' if d==1 else ''
            H=R.shape[2]
            un=lambda a: np.concatenate([a[p*H:(p+1)*H] for p in inv],0)
            getattr(m,'weight_ih_l0'+sfx).copy_(torch.from_numpy(un(W[d]).astype(np.float64)))
            getattr(m,'weight_hh_l0'+sfx).copy_(torch.from_numpy(un(R[d]).astype(np.float64)))
            getattr(m,'bias_ih_l0'+sfx).copy_(torch.from_numpy(un(B[d][:len(B[d])//2]).astype(np.float64)))
            getattr(m,'bias_hh_l0'+sfx).copy_(torch.from_numpy(un(B[d][len(B[d])//2:]).astype(np.float64)))
# LSTM bidirectional with initial states.
m=torch.nn.LSTM(3,4,bidirectional=True).double()
perm=[0,3,1,2]
W,R,B=wts(m,perm,2); setw(m,W,R,B,perm,2)
x=r(3,2,3); h0=r(2,2,4); c0=r(2,2,4)
y,(hn,cn)=m(torch.from_numpy(x.astype(np.float64)),(torch.from_numpy(h0.astype(np.float64)),torch.from_numpy(c0.astype(np.float64))))
y=y.detach().numpy().reshape(3,2,2,4).transpose(0,2,1,3)
out.append(case("lstm bidirectional initial states","LSTM",14,{"direction":"bidirectional","hidden_size":4},
  [x,W,R,B,None,h0,c0],[y,hn.detach().numpy(),cn.detach().numpy()],consts=[1,2,3]))
# GRU forward, linear_before_reset=1 (torch's GRU), batch-first layout 1.
m=torch.nn.GRU(3,5,batch_first=True).double()
perm=[1,0,2]
W,R,B=wts(m,perm,1); setw(m,W,R,B,perm,1)
x=r(2,4,3)
y,hn=m(torch.from_numpy(x.astype(np.float64)))
out.append(case("gru linear_before_reset layout 1","GRU",14,{"hidden_size":5,"linear_before_reset":1,"layout":1},
  [x,W,R,B],[y.detach().numpy().reshape(2,4,1,5),hn.detach().numpy().transpose(1,0,2)],consts=[1,2,3]))
# RNN relu, only Y_h asked for (Y omitted).
m=torch.nn.RNN(2,3,nonlinearity='relu').double()
W,R,B=wts(m,[0],1); setw(m,W,R,B,[0],1)
x=r(5,1,2)
y,hn=m(torch.from_numpy(x.astype(np.float64)))
print("// Cases computed with PyTorch 1.13 nn.LSTM, nn.GRU and nn.RNN in float64 (/usr/bin/python3, engine/testdata/gencases/rnn.py, seeds 0 and 7).\nvar rnnCases = []opCase{\n"+"".join(out)+"}")
print("\n// rnnReluYh is nn.RNN(relu) on x [5 1 2]: only Y_h is asked for.\nvar rnnReluYh = struct{ x, w, r, b, yh *model.Tensor }{%s, %s, %s, %s, %s}"%(T(x),T(W),T(R),T(B),T(hn.detach().numpy())))
