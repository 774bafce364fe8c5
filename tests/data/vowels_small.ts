# A small multivariate, unequal-length classification problem, written to the
# UEA/UCR .ts format's description: @ header lines, @data, one case a line,
# dimensions separated by ':', values by ',', the class label last.
@problemName VowelsSmall
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength false
@classLabel true 1 2 10
@data
1.0,2.0,3.0:4.0,5.0,6.0:1
0.5,0.25:-1.5,2.5:10
7,8,9,10:11,12,13,14:2
-0.1,0.2,0.3:0.4,0.5,0.6:10
