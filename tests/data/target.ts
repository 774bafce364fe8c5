@problemName TinyRegression
@timeStamps false
@univariate true
@equalLength false
@targetLabel true
@data
1,2,3:0.5
4,5:1.25
6,7,8,9:-2.0
